//! Integration tests: the hub in-process on port 0 with a throwaway CA; clients are real HTTPS
//! clients presenting terminal certificates.

mod backup;
mod balancer;
mod cluster;
mod common;
mod conformance;
mod crash;
mod delegation;
mod faults;
mod flow;
mod lifecycle;
mod mailbox;
mod matrix;
mod portal;
mod security;
