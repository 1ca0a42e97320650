"""AppManager: the web-service client, License Manager discovery and the sandbox server."""
