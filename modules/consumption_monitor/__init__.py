"""The consumption monitor module: endpoints in, corrected energy counters and monthly bills out.

Table of contents: ``config`` (endpoint YAML), ``sync`` (YAML -> cm_endpoint), ``collect``
(the job), ``counters`` (resets, rollovers, swaps), ``store`` and ``spool`` (writing readings,
nothing lost), ``corrections`` (swaps and manual corrections, recompute), ``billing``
(monthly tables), ``status`` (live and history queries), ``exports`` (CSV/XLSX), ``cli``.
"""
