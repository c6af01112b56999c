//! Live capture with AF_PACKET and a TPACKET_V3 ring (being written).
