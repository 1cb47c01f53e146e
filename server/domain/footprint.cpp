#include "domain/footprint.h"

namespace messaging::domain {

std::size_t Footprint(const Message& m) {
  std::size_t bytes = sizeof(Message);
  for (const std::string* s :
       {&m.id, &m.conversation_id, &m.distributor_id, &m.content, &m.media_url,
        &m.media_content_type, &m.external_message_id, &m.error_code, &m.error_message,
        &m.ai_summary, &m.ai_intent, &m.ai_sentiment, &m.metadata_json}) {
    bytes += s->size();
  }
  if (m.ai_extracted_data_json) bytes += m.ai_extracted_data_json->size();
  return bytes;
}

}  // namespace messaging::domain
