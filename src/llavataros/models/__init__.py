"""Model families (the face family lives in :mod:`llavataros.models.face`)."""
