"""Jinja2 templates and Babel catalogs for everything the gateway writes to people.

``email/`` holds the notification and digest mails (an HTML and a plain-text part
each), ``pages/`` the few HTML pages served without a login (one-click unsubscribe),
and ``locale/<lang>/LC_MESSAGES/messages.po`` the translations. This is a package so
the files ship inside the wheel; :mod:`gateway.i18n` loads them from here.
"""
