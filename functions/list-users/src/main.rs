idlink::lambda_main!(list_users);
