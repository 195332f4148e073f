"""双公示 decision records (issue 24): rules, operations, the modelled seed and the report."""
