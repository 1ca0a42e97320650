"""The export path: ERP export folder -> validated, canonical files in Dropbox."""
