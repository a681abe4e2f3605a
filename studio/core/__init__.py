"""Clock, media types and events shared by every stage. Never imports Qt."""
