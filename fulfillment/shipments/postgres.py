"""Migration operations for what only PostgreSQL (production, the tests) can build."""

from django.db import migrations


class AddIndexOnPostgreSQL(migrations.AddIndex):
    """SQLite (the embedded station) refuses NULLS LAST in an index; its small database needs none."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
