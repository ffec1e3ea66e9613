"""Elastic DNN training in a supercomputer's idle nodes (BFTrainer, reproduced and extended).

idle       where idle holes come from: a real node-state trace, a simulated schedule, a generator
trainers   elastic trainers: rate on k nodes, node bounds, rescale costs, work
allocate   the per-event decision: exact DP and node-level HiGHS MILP (they agree), baselines
replay     the event loop that applies pre-emptions and joins and charges the costs
horizon    a learned look-ahead: the predicted remaining life of idle holes
data       where the BFTrainer data lives; ``schedlab data fetch bftrainer``
"""
