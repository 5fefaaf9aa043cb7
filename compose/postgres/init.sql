-- One database per service that keeps state, as stack/ gives each its own (gateway, signals, orchestrator).
CREATE DATABASE gateway;
CREATE DATABASE signals;
CREATE DATABASE orchestrator;
