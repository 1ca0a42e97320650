"""The iCommerce connector: ERP exports to Dropbox, AppManager records to the ERP."""

__version__ = "0.1.0"
