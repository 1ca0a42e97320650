"""Dropbox API publisher (dropbox.mode: api): the official SDK, batch commits, content-hash
skips, rate-limit handling, one staging folder per run moved into place together.

connector/app.py builds it (build_publisher): settings.DropboxApiSettings, the
credentials of auth.load_credentials, client.make_client, then
publisher.DropboxApiPublisher. The package itself imports nothing, so its modules import
each other without a circle.
"""
