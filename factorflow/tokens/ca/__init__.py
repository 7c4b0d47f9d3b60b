"""CA connectors: the certificate authorities that sign the requests of certificate
tokens (privacyIDEA's ``caconnector``; the ``local`` type is built on ``cryptography``)."""
