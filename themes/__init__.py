"""Colour themes for the screens, as Textual Theme objects."""
