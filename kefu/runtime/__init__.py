"""The runtime: composes the capabilities with the engine (registry), runs it live over the
database (service) and over files (replay). `kefu.engine` knows none of them."""
