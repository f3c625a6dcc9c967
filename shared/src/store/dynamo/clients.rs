//! Projects, server clients and partner API keys: written by the admin command, read at the edge.

use super::items::{
    api_key_item, api_key_key, api_key_project_from_item, client_from_item, client_item,
    client_key, project_from_item, project_item, project_key,
};
use super::{DynamoStore, NEW_ITEM};
use crate::client::{ClientId, Project, ServerClient};
use crate::error::Result;
use crate::identity::ProjectId;
use crate::partner::ApiKeyHash;
use crate::store::{ApiKeyStore, ClientStore};

impl ApiKeyStore for DynamoStore {
    async fn put_api_key(&self, key: &ApiKeyHash, project: ProjectId) -> Result<()> {
        self.put_alone(api_key_item(key, project), Some(NEW_ITEM))
            .await
    }

    async fn api_key_project(&self, key: &ApiKeyHash) -> Result<Option<ProjectId>> {
        self.get(api_key_key(key))
            .await?
            .map(|item| api_key_project_from_item(&item))
            .transpose()
    }
}

impl ClientStore for DynamoStore {
    async fn put_project(&self, p: &Project) -> Result<()> {
        self.put_alone(project_item(p), None).await
    }

    async fn get_project(&self, id: ProjectId) -> Result<Option<Project>> {
        self.get(project_key(id))
            .await?
            .map(|item| project_from_item(id, &item))
            .transpose()
    }

    async fn put_client(&self, c: &ServerClient) -> Result<()> {
        self.put_alone(client_item(c), Some(NEW_ITEM)).await
    }

    async fn get_client(&self, id: &ClientId) -> Result<Option<ServerClient>> {
        self.get(client_key(id))
            .await?
            .map(|item| client_from_item(id, &item))
            .transpose()
    }
}
