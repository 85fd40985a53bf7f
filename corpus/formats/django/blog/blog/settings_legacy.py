# Older settings kept for the migration scripts.
SECRET_KEY = '⟦k1:django-key!⟧'
