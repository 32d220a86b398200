"""The product package: the toolkit and its Python dependencies as one RPM (release build)."""
