enum CanalDatastoreModule {}
