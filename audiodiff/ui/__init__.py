"""The web UI (``audiodiff ui``): ``actions`` does the work without any web framework,
``app`` lays it out as a Gradio page (the ``ui`` extra)."""
