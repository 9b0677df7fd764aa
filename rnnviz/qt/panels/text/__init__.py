"""Panels for models that read text: the input coloured by what a unit tracks."""
