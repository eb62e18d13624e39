"""The shop command line: the CLI, the server, the plugin scaffold."""
