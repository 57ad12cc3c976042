"""Planning in the pure core: flows, the action catalogue, the planner, case state and interest."""
