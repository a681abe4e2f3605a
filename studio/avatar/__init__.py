"""The default host avatar renderer (OpenGL, 2.5D painted layers with live eyes and mouth)."""

from studio.avatar.renderer import AvatarRenderer

__all__ = ["AvatarRenderer"]
