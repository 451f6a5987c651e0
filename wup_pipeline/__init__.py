"""wup-pipeline: factscan and cost-benefit data for Dutch wijkuitvoeringsplannen."""
