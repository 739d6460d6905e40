include $(sort $(wildcard $(BR2_EXTERNAL_MINIDOCK_PATH)/package/*/*.mk))
