"""The benchmarks: they train and fine-tune with the project's tools, probe or score the results and write tables and
figures (behind ``tools/benchmarks/`` and ``tools/analysis_tools/benchmark_pcd.py``)."""
