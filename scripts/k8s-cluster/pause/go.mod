module blog-creator/k8s-cluster/pause

go 1.22
