"""Declarative automation: sources are refreshed by schedules and sensors; everything downstream follows.

* Source assets (group ``sources``) carry no automation condition: ``schedules.py`` and ``sensors.py`` start
  them. They carry a freshness policy that says how old their data may get (monthly BAG and labels, yearly CBS).
* Models and outputs (groups ``staging``, ``intermediate``, ``marts``, ``outputs``) carry
  ``model_automation_condition()``: Dagster's ``eager()`` (request when a dependency was updated, not while one
  is missing or in progress), except that dependencies on ``audit.*`` tables are ignored: those tables are
  written by the warehouse itself (e.g. audit.monitoring_buurt_history at publish), are external assets in
  Dagster and are never "materialised", so plain ``eager()`` would wait for them for ever. Within one tick the
  whole downstream chain, publish included, is requested together (``eager`` counts a dependency that
  ``will_be_requested`` as updated), so a changed source gives one run and one publish.
* Freshness uses ``dg.FreshnessPolicy.time_window`` (dagster 1.13: ``FreshnessPolicy`` is the new API; the
  old ``FreshnessPolicy(maximum_lag_minutes=...)`` is ``LegacyFreshnessPolicy``).

The automation-condition sensor of the Dagster daemon evaluates the conditions (``dagster dev`` runs it).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import dagster as dg

MODEL_GROUPS = ("staging", "intermediate", "marts", "outputs")
SELF_WRITTEN_PREFIXES = ("audit",)  # schemas of tables the warehouse writes itself: never materialised in Dagster

# Cadences: BAG and EP-Online labels monthly; CBS tables and the buurt boundaries yearly.
MONTHLY_FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=timedelta(days=40), warn_window=timedelta(days=33))
YEARLY_FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=timedelta(days=400), warn_window=timedelta(days=380))
# Models follow the monthly sources, with a few days to run and pass their checks.
MODEL_FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=timedelta(days=42), warn_window=timedelta(days=35))

MONTHLY_SOURCES = (("raw", "bag_verblijfsobjecten"), ("raw", "bag_panden"), ("raw", "energy_labels"))
YEARLY_SOURCES = (("raw", "cbs_kwb"), ("raw", "cbs_energie_buurt"), ("raw", "cbs_heating_buurt"),
                  ("raw", "pdok_buurten"), ("raw", "kleinverbruik"))


def model_automation_condition() -> dg.AutomationCondition:
    """``eager()`` that does not wait for the warehouse's own audit tables (see the module docstring)."""
    ignored = dg.AssetSelection.key_prefixes(*SELF_WRITTEN_PREFIXES, include_sources=True)
    return dg.AutomationCondition.eager().replace(
        "any_deps_missing", dg.AutomationCondition.any_deps_missing().ignore(ignored)
    )


def source_freshness(key: dg.AssetKey) -> dg.FreshnessPolicy | None:
    path = tuple(key.path)
    if path in MONTHLY_SOURCES:
        return MONTHLY_FRESHNESS
    if path in YEARLY_SOURCES:
        return YEARLY_FRESHNESS
    return None  # municipal uploads and parameter files change when someone delivers them: no deadline


def with_automation(spec: dg.AssetSpec) -> dg.AssetSpec:
    """The automation condition and freshness policy for one asset spec, decided by its group and key."""
    if spec.group_name in MODEL_GROUPS:
        return spec.replace_attributes(automation_condition=model_automation_condition(),
                                       freshness_policy=MODEL_FRESHNESS)
    policy = source_freshness(spec.key)
    return spec.replace_attributes(freshness_policy=policy) if policy else spec


def apply_automation(assets: Sequence[dg.AssetsDefinition | dg.AssetSpec]) -> list:
    """``with_automation`` over every spec of the given assets (for ``build_definitions``)."""
    return list(dg.map_asset_specs(with_automation, assets))
