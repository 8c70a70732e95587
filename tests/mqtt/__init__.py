"""MQTT transport and VTN bridge, against a real Mosquitto broker on loopback."""
