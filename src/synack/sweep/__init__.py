"""``synack sweep``: grids of simulated runs on Dask, one Parquet row per cell.

:mod:`synack.sweep.grid` reads a grid (flags or TOML) and expands it into
cells; :mod:`synack.sweep.cell` runs one cell on the simulator and measures
it; :mod:`synack.sweep.runner` hands the cells to a Dask cluster and
:mod:`synack.sweep.store` writes the rows as they come back;
:mod:`synack.sweep.query` and :mod:`synack.sweep.plot` read the dataset;
:mod:`synack.sweep.recipes` reproduce known results;
:mod:`synack.sweep.captures` analyses a folder of captures on the same
cluster. Dask, pyarrow and DuckDB are imported inside functions.
"""
