idlink::lambda_main!(get_user);
