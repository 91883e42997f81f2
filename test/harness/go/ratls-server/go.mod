module ratlsserver

go 1.19
