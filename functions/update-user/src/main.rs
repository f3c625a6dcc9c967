idlink::lambda_main!(update_user);
