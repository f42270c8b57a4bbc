"""The concurrency shell: supervised pykka actors that hold state and talk."""
