"""The classroom: what the lessons and the assignments use around the engine, and the command line never loads.

* :mod:`~nst_teach.classroom.lesson`: one switch for quick mode, sizes and steps by device; ``show_code``;
* :mod:`~nst_teach.classroom.outcomes`: a lesson's stated outcomes, checked from its own numbers (``cfg.expect``);
* :mod:`~nst_teach.classroom.live`, :mod:`~nst_teach.classroom.plots`, :mod:`~nst_teach.classroom.panel`,
  :mod:`~nst_teach.classroom.animation`: live views, figures, the interactive panel, a run as a GIF;
* :mod:`~nst_teach.classroom.checks`, :mod:`~nst_teach.classroom.loop_checks`, :mod:`~nst_teach.classroom.guided_checks`:
  the assignments' checks;
* :mod:`~nst_teach.classroom.course`: the notebooks shipped in the wheel (``nst-teach lessons DIR``).

The engine (:mod:`nst_teach.tasks` and what it imports) never imports from here (``tests/test_layout.py``).
The command line imports :mod:`~nst_teach.classroom.animation` for ``--animate`` and
:mod:`~nst_teach.classroom.course` for ``nst-teach lessons``, each only when asked.
"""
