"""Machines and applications: machine resolvers (plug-ins), service ids, and the links
that attach a token to a machine (or a service id) for an application (ssh, offline,
luks), privacyIDEA's ``/machine/``, ``/machineresolver/`` and ``/serviceid/``."""
