-- One database per service that keeps state, as verify/stack gives each its own (gateway, signals, orchestrator).
CREATE DATABASE gateway;
CREATE DATABASE signals;
CREATE DATABASE orchestrator;
