// placeholder so the module library has a source until its first unit lands
