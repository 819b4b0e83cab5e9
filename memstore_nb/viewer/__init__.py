"""The chat history viewer: safe HTML rendering and the ipywidgets browser."""
