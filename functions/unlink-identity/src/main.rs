idlink::lambda_main!(unlink_identity);
