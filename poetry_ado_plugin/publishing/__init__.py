"""Guarded publishing to an Azure Artifacts feed: the checks before an upload, the upload itself
through Poetry's own Publisher and Uploader with retries, and one readable line per failure.

The steps, in the order ``publish.publish`` takes them, one module each:

1. ``target``: which feed, and the exact upload URL (views are read only, so the upload always
   goes to the feed itself), and the credential and TLS settings Poetry has for it.
2. ``name_check.check_project_name`` (outside this package): check-name's basic checks. A
   lookup that could not be done is a warning, never a stop: publishing to a private feed must
   not depend on the public index being reachable.
3. ``dist_files``: only the project's current version leaves dist/. Files of other versions
   are ignored and named; a file whose name says this version but whose metadata says
   otherwise stops the run. (Poetry 2.3+ uploads the *newest* version found in dist/, not the
   project's; 2.0-2.2 match by file name only.) Azure's upload rules are checked here too.
4. ``feed_index``: read the feed's own index page for the project. A file that is already
   there stops the run (Azure never replaces a version, not even after it is deleted) unless
   ``--skip-existing`` skips it. Every failure becomes one line naming the fix.
5. ``metadata_compat``: Metadata-Version 2.1 declared in the upload for Azure DevOps Server.
6. ``uploader``: Poetry's Uploader with a retry policy and Azure-aware answers.

``publish`` runs them; it and the uploader write through the console they are handed, every
other module only returns values or raises an ``AdoError``.

Exit codes of ``poetry ado publish``: 0 when everything was uploaded or skipped, 1 otherwise."""
