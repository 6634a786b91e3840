"""An Tâm's app runtime: conversation core, channels, storage and the `antam` CLI."""
