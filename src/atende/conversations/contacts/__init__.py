"""Contacts the team and integrations manage: creating and changing them one at a time
(``service``), importing a CSV file of them (``importer``, the ``contacts:import_contacts``
job in ``tasks``), and their GraphQL (``types``, ``mutations``)."""
