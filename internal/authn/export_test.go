package authn

// Bearer exposes bearer to the external tests and fuzz targets.
var Bearer = bearer
