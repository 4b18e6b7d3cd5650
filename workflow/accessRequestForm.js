{
  name: 'Access-Request-Start',
  props: ['processDefinition', 'isTask', 'taskDefinition', 'variables'],
  data () {
    return { application: '', justification: '', accessLevel: 'read' };
  },
  methods: {
    submit () {
      this.$emit('submit', {
        application: this.application,
        justification: this.justification,
        accessLevel: this.accessLevel
      });
    }
  },
  template: `
    <form @submit.prevent="submit">
      <label>Application <input v-model="application" required></label>
      <label>Justification <textarea v-model="justification"></textarea></label>
      <label>Access level
        <select v-model="accessLevel">
          <option value="read">Read only</option>
          <option value="write">Read and write</option>
        </select>
      </label>
      <button type="submit">Request access</button>
    </form>`
}
