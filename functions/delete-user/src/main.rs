idlink::lambda_main!(delete_user);
