"""Several Factorflow nodes behind HAProxy on PostgreSQL and on a MariaDB Galera
cluster, all started here on loopback ports (issue 21): the harness and the soak."""
