"""Temperature monitor: rack sensors read on a schedule, with alerts that do not flap."""
