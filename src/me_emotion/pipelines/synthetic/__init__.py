"""Generator of CASME-II- and SAMM-layout synthetic demo releases."""
